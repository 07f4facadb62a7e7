"""pbxsim: an Asterisk 22 stand-in that speaks real AMI over TCP.

It imports nothing from the rest of Hotline: it is the outside world. See
:class:`pbxsim.server.PBXSim` and ``python -m pbxsim --help``.
"""

__version__ = "0.1.0"
