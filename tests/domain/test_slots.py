from hedgetui.domain.slots import Slot


def test_slot_versions_increase_and_keep_only_the_latest_value() -> None:
    slot: Slot[str] = Slot("book")
    assert slot.version == 0 and slot.latest() is None
    assert slot.publish("a", now=1.0) == 1
    assert slot.publish("b", now=2.0) == 2
    latest = slot.latest()
    assert latest is not None
    assert (latest.value, latest.version, latest.published_at) == ("b", 2, 2.0)
    assert slot.changed_since(1) and not slot.changed_since(2)
