"""``callcenter probe``: real SIP test calls into a live hotline.

It uses pjsua2 on its own (no code shared with pbxsim), so an operator can
point it at a real Asterisk: place calls (RTP audio, RFC 4733 digits), walk
the IVR by a script (`script`), wait for an agent (`audio.AgentRule`), play a
tone, hang up, and report per call (`report`), optionally as Prometheus
metrics (`metrics`). `sip` keeps pjsua2 in its own thread (its objects in
`pjcall`); `call` and `runner` run on asyncio. See README.md.
"""
