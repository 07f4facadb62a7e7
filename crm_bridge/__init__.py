"""CRM backends, lookup cache and screen-pop payloads.

- ``numbers``: ``normalize_number`` (any spelling -> E.164)
- ``card``: ``CustomerCard``, ``InteractionSummary``, the ``CrmBackend`` protocol
- ``sql_crm``: ``SqlCrm``, the built-in CRM on Hotline's SQL store
- ``lookup``: ``CrmLookup``, a lookup bounded in time
- ``demo_data``: deterministic Vietnamese customers and demo logins

Nothing is imported here on purpose: ``callcenter.storage`` uses
``crm_bridge.numbers``, and ``crm_bridge.sql_crm`` uses ``callcenter.storage``;
importing submodules directly keeps that free of cycles.
"""
