"""The program's exit codes, defined once for the CLI, the headless commands and the dashboard.

0 done, 1 aborted or failed safely, 2 bad input or configuration (one line on stderr, nothing sent),
3 halted with exposure that needs the operator.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HALTED = 3
