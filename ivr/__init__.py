"""IVR engine: pure state machine (events and now in, commands out)."""
