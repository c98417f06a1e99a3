"""Allow ``python -m hedgetui``."""

from hedgetui.cli import main

raise SystemExit(main())
