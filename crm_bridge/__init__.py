"""CRM backends, their tables and the lookup cache; the customer card as the screen-pop shows it.

- ``numbers``: ``normalize_number`` (any spelling -> E.164)
- ``models``: the CRM's tables (customers, their numbers, contact history) on ``sqlbase``
- ``customers``: adding a customer and their numbers (checked, normalized), ``CustomerRejected``
- ``card``: ``CustomerCard`` (and its screen-pop JSON), ``InteractionSummary``, the ``CrmBackend`` protocol
- ``sql_crm``: ``SqlCrm``, the built-in CRM on Hotline's SQL store
- ``lookup``: ``CrmLookup``, a cached lookup bounded in time
- ``dispositions``: ``DispositionWriteBack``, a disposition written back and its card refreshed

The demo customers and logins live with the demo (``callcenter.demo.data``).

The package imports nothing of the controller's (``.importlinter``): the controller's
store uses ``crm_bridge.models`` and ``crm_bridge.numbers``, never the other way round.
"""
