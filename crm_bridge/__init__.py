"""CRM backends and the lookup cache (the screen-pop payload is the call-flow core's: ``Call.card_json``).

- ``numbers``: ``normalize_number`` (any spelling -> E.164)
- ``card``: ``CustomerCard``, ``InteractionSummary``, the ``CrmBackend`` protocol
- ``sql_crm``: ``SqlCrm``, the built-in CRM on Hotline's SQL store
- ``lookup``: ``CrmLookup``, a cached lookup bounded in time
- ``dispositions``: ``DispositionWriteBack``, a disposition written back and its card refreshed

The demo customers and logins live with the demo (``callcenter.demo.data``).

Nothing is imported here on purpose: ``callcenter.storage`` uses
``crm_bridge.numbers``, and ``crm_bridge.sql_crm`` uses ``callcenter.storage``;
importing submodules directly keeps that free of cycles.
"""
