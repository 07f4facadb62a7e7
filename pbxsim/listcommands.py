"""ListCommands as Asterisk 22.10.1 answered it (06-channels-listing), verbatim.

Transcript 06's user held every write class. manager.c's ``action_listcommands``
lists only the actions whose authority shares a class with the session's
``writeperm`` (or has none); :func:`allowed` is that rule, and ``process_message``
refuses the others with ``Permission denied``.
"""

from __future__ import annotations

from collections.abc import Set

LIST_COMMANDS: tuple[tuple[str, str], ...] = (
    ("AbsoluteTimeout", "Set absolute timeout.  (Priv: system,call,all)"),
    ("AGI", "Add an AGI command to execute by Async AGI.  (Priv: agi,all)"),
    ("AOCMessage", "Generate an Advice of Charge message on a channel.  (Priv: aoc,all)"),
    ("Atxfer", "Attended transfer.  (Priv: call,all)"),
    ("BlindTransfer", "Blind transfer channel(s) to the given destination  (Priv: call,all)"),
    ("Bridge", "Bridge two channels already in the PBX.  (Priv: call,all)"),
    ("BridgeDestroy", "Destroy a bridge.  (Priv: <none>)"),
    ("BridgeInfo", "Get information about a bridge.  (Priv: <none>)"),
    ("BridgeKick", "Kick a channel from a bridge.  (Priv: <none>)"),
    ("BridgeList", "Get a list of bridges in the system.  (Priv: <none>)"),
    (
        "BridgeTechnologyList",
        "List available bridging technologies and their statuses.  (Priv: <none>)",
    ),
    ("BridgeTechnologySuspend", "Suspend a bridging technology.  (Priv: <none>)"),
    ("BridgeTechnologyUnsuspend", "Unsuspend a bridging technology.  (Priv: <none>)"),
    ("CancelAtxfer", "Cancel an attended transfer.  (Priv: call,all)"),
    ("Challenge", "Generate Challenge for MD5 Auth.  (Priv: <none>)"),
    ("Command", "Execute Asterisk CLI Command.  (Priv: command,all)"),
    (
        "ControlPlayback",
        "Control the playback of a file being played to a channel.  (Priv: call,all)",
    ),
    ("CoreSettings", "Show PBX core settings (version etc).  (Priv: system,reporting,all)"),
    (
        "CoreShowChannelMap",
        "List all channels connected to the specified channel.  (Priv: system,reporting,all)",
    ),
    ("CoreShowChannels", "List currently active channels.  (Priv: system,reporting,all)"),
    ("CoreStatus", "Show PBX core status variables.  (Priv: system,reporting,all)"),
    ("CreateConfig", "Creates an empty file in the configuration directory.  (Priv: config,all)"),
    ("DBDel", "Delete DB entry.  (Priv: system,all)"),
    ("DBDelTree", "Delete DB Tree.  (Priv: system,all)"),
    ("DBGet", "Get DB Entry.  (Priv: system,reporting,all)"),
    (
        "DBGetTree",
        "Get DB entries, optionally at a particular family/key  (Priv: system,reporting,all)",
    ),
    ("DBPut", "Put DB entry.  (Priv: system,all)"),
    ("DeviceStateList", "List the current known device states.  (Priv: call,reporting,all)"),
    ("DialplanExtensionAdd", "Add an extension to the dialplan  (Priv: system,all)"),
    ("DialplanExtensionRemove", "Remove an extension from the dialplan  (Priv: system,all)"),
    ("Events", "Control Event Flow.  (Priv: <none>)"),
    ("ExtensionState", "Check Extension Status.  (Priv: call,reporting,all)"),
    ("ExtensionStateList", "List the current known extension states.  (Priv: call,reporting,all)"),
    (
        "FAXSession",
        "Responds with a detailed description of a single FAX session  (Priv: call,all)",
    ),
    ("FAXSessions", "Lists active FAX sessions  (Priv: call,all)"),
    ("FAXStats", "Responds with fax statistics  (Priv: reporting,all)"),
    ("Filter", "Dynamically add filters for the current manager session.  (Priv: system,all)"),
    ("GetConfig", "Retrieve configuration.  (Priv: system,config,all)"),
    ("GetConfigJSON", "Retrieve configuration (JSON format).  (Priv: system,config,all)"),
    ("Getvar", "Gets a channel variable or function value.  (Priv: call,reporting,all)"),
    ("Hangup", "Hangup channel.  (Priv: system,call,all)"),
    ("ListCategories", "List categories in configuration file.  (Priv: config,all)"),
    ("ListCommands", "List available manager commands.  (Priv: <none>)"),
    ("LocalOptimizeAway", "Optimize away a local channel when possible.  (Priv: system,call,all)"),
    ("LoggerRotate", "Reload and rotate the Asterisk logger.  (Priv: system,reporting,all)"),
    ("Login", "Login Manager.  (Priv: <none>)"),
    ("Logoff", "Logoff Manager.  (Priv: <none>)"),
    ("MailboxCount", "Check Mailbox Message Count.  (Priv: call,reporting,all)"),
    ("MailboxStatus", "Check mailbox.  (Priv: call,reporting,all)"),
    ("MessageSend", "Send an out of call message to an endpoint.  (Priv: message,all)"),
    (
        "MixMonitor",
        "Record a call and mix the audio during the recording.  Use of StopMixMonitor is required to guarantee the audio file is available for processing during dialplan execution.  (Priv: system,all)",
    ),
    ("MixMonitorMute", "Mute / unMute a Mixmonitor recording.  (Priv: system,call,all)"),
    ("ModuleCheck", "Check if module is loaded.  (Priv: system,all)"),
    ("ModuleLoad", "Module management.  (Priv: system,all)"),
    ("MuteAudio", "Mute an audio stream.  (Priv: system,all)"),
    ("Originate", "Originate a call.  (Priv: originate,all)"),
    ("Park", "Park a channel.  (Priv: call,all)"),
    ("ParkedCalls", "List parked calls.  (Priv: call,all)"),
    ("Parkinglots", "Get a list of parking lots  (Priv: call,all)"),
    ("Ping", "Keepalive command.  (Priv: <none>)"),
    (
        "PJSIPHangup",
        "Hangup an incoming PJSIP channel with a SIP response code  (Priv: system,call,all)",
    ),
    ("PJSIPQualify", "Qualify a chan_pjsip endpoint.  (Priv: system,reporting,all)"),
    ("PJSIPRegister", "Register an outbound registration.  (Priv: system,reporting,all)"),
    (
        "PJSIPSetMaintenance",
        "Enable or disable maintenance mode for a PJSIP endpoint.  (Priv: system,all)",
    ),
    ("PJSIPShowAors", "Lists PJSIP AORs.  (Priv: system,all)"),
    ("PJSIPShowAuths", "Lists PJSIP Auths.  (Priv: system,all)"),
    ("PJSIPShowContacts", "Lists PJSIP Contacts.  (Priv: system,all)"),
    ("PJSIPShowEndpoint", "Detail listing of an endpoint and its objects.  (Priv: system,all)"),
    ("PJSIPShowEndpoints", "Lists PJSIP endpoints.  (Priv: system,all)"),
    (
        "PJSIPShowMaintenance",
        "Show maintenance mode status for PJSIP endpoints.  (Priv: system,reporting,all)",
    ),
    (
        "PJSIPShowRegistrationInboundContactStatuses",
        "Lists ContactStatuses for PJSIP inbound registrations.  (Priv: system,all)",
    ),
    ("PJSIPShowRegistrationsInbound", "Lists PJSIP inbound registrations.  (Priv: system,all)"),
    (
        "PJSIPShowRegistrationsOutbound",
        "Lists PJSIP outbound registrations.  (Priv: system,reporting,all)",
    ),
    (
        "PJSIPShowResourceLists",
        "Displays settings for configured resource lists.  (Priv: system,all)",
    ),
    ("PJSIPShowSubscriptionsInbound", "Lists inbound subscriptions.  (Priv: system,all)"),
    ("PJSIPShowSubscriptionsOutbound", "Lists outbound subscriptions.  (Priv: system,all)"),
    ("PJSIPUnregister", "Unregister an outbound registration.  (Priv: system,reporting,all)"),
    ("PlayDTMF", "Play DTMF signal on a specific channel.  (Priv: call,all)"),
    ("PlayMF", "Play MF digit on a specific channel.  (Priv: call,all)"),
    ("PresenceState", "Check Presence State  (Priv: call,reporting,all)"),
    ("PresenceStateList", "List the current known presence states.  (Priv: call,reporting,all)"),
    ("QueueAdd", "Add interface to queue.  (Priv: agent,all)"),
    ("QueueChangePriorityCaller", "Change priority of a caller on queue.  (Priv: <none>)"),
    ("QueueLog", "Adds custom entry in queue_log.  (Priv: agent,all)"),
    ("QueueMemberRingInUse", "Set the ringinuse value for a queue member.  (Priv: agent,all)"),
    ("QueuePause", "Makes a queue member temporarily unavailable.  (Priv: agent,all)"),
    ("QueuePenalty", "Set the penalty for a queue member.  (Priv: agent,all)"),
    (
        "QueueReload",
        "Reload a queue, queues, or any sub-section of a queue or queues.  (Priv: <none>)",
    ),
    ("QueueRemove", "Remove interface from queue.  (Priv: agent,all)"),
    ("QueueReset", "Reset queue statistics.  (Priv: <none>)"),
    ("QueueRule", "Queue Rules.  (Priv: <none>)"),
    ("QueueStatus", "Show queue status.  (Priv: <none>)"),
    ("QueueSummary", "Show queue summary.  (Priv: <none>)"),
    (
        "QueueWithdrawCaller",
        "Request to withdraw a caller from the queue back to the dialplan.  (Priv: <none>)",
    ),
    ("Redirect", "Redirect (transfer) a call.  (Priv: call,all)"),
    ("Reload", "Send a reload event.  (Priv: system,config,all)"),
    ("SendFlash", "Send a hook flash on a specific channel.  (Priv: call,all)"),
    (
        "SendText",
        "Sends a text message to channel. A content type\tcan be optionally specified. If not set it is set to an empty string allowing a custom handler to default it as it sees fit.  (Priv: call,all)",
    ),
    ("Setvar", "Sets a channel variable or function value.  (Priv: call,all)"),
    ("ShowDialPlan", "Show dialplan contexts and extensions  (Priv: config,reporting,all)"),
    (
        "SorceryMemoryCacheExpire",
        "Expire (remove) ALL objects from a sorcery memory cache.  (Priv: system,all)",
    ),
    (
        "SorceryMemoryCacheExpireObject",
        "Expire (remove) an object from a sorcery memory cache.  (Priv: system,all)",
    ),
    (
        "SorceryMemoryCachePopulate",
        "Expire all objects from a memory cache and populate it with all objects from the backend.  (Priv: system,all)",
    ),
    (
        "SorceryMemoryCacheStale",
        "Marks ALL objects in a sorcery memory cache as stale.  (Priv: system,all)",
    ),
    (
        "SorceryMemoryCacheStaleObject",
        "Mark an object in a sorcery memory cache as stale.  (Priv: system,all)",
    ),
    ("Status", "List channel status.  (Priv: system,call,reporting,all)"),
    (
        "StopMixMonitor",
        "Stop recording a call through MixMonitor, and free the recording's file handle.  (Priv: system,call,all)",
    ),
    ("UpdateConfig", "Update basic configuration.  (Priv: config,all)"),
    ("UserEvent", "Send an arbitrary event.  (Priv: user,all)"),
    (
        "VoicemailBoxSummary",
        "Show the mailbox contents of given voicemail user.  (Priv: call,reporting,all)",
    ),
    (
        "VoicemailForward",
        "Forward Voicemail from one mailbox folder to another between given users.  (Priv: user,all)",
    ),
    ("VoicemailMove", "Move Voicemail between mailbox folders of given user.  (Priv: user,all)"),
    ("VoicemailRefresh", "Tell Asterisk to poll mailboxes for a change  (Priv: user,all)"),
    ("VoicemailRemove", "Remove Voicemail from mailbox folder.  (Priv: user,all)"),
    ("VoicemailUsersList", "List All Voicemail User Information.  (Priv: call,reporting,all)"),
    (
        "VoicemailUserStatus",
        "Show the status of given voicemail user's info.  (Priv: call,reporting,all)",
    ),
    ("WaitEvent", "Wait for an event to occur.  (Priv: <none>)"),
)


def classes(text: str) -> frozenset[str]:
    """The write classes of a line's ``(Priv: a,b,all)``, without ``all``; none for ``<none>``."""
    priv = text.rpartition("(Priv: ")[2].rstrip(")")
    return frozenset(c for c in priv.split(",") if c not in ("all", "<none>", ""))


#: action (lower case) -> its write classes
AUTHORITY: dict[str, frozenset[str]] = {name.lower(): classes(t) for name, t in LIST_COMMANDS}


def allowed(action: str, writeperm: Set[str] | None) -> bool:
    """May a session of write classes ``writeperm`` (``None``: all) send ``action``?"""
    need = AUTHORITY.get(action.lower(), frozenset())
    return writeperm is None or not need or bool(need & writeperm)
