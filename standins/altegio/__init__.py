"""The sandbox location: a demo salon speaking Altegio's online-booking wire format, in process
(an httpx transport) or over HTTP. `sandbox.Sandbox` is the entry point."""
