"""CRM backends, their tables and the lookup cache; the customer card as the screen-pop shows it.

- ``numbers``: ``normalize_number`` (any spelling -> E.164)
- ``models``: the CRM's tables (customers, their numbers, contact history, tickets) on ``sqlbase``
- ``customers``: adding a customer and their numbers (checked, normalized), ``CustomerRejected``
- ``tickets``: opening and moving tickets (status, escalation level)
- ``csv_import``: customers from a CSV file, every bad row named by its line, all or nothing
- ``card``: ``CustomerCard`` (and its screen-pop JSON), ``CardAnswer``, ``CrmUnavailable``, the ``CrmBackend`` protocol
- ``sql_crm``: ``SqlCrm``, the built-in CRM on Hotline's SQL store
- ``http_crm``: ``HttpCrm``, a CRM behind HTTP (URL templates, auth header; ``mapping``: the field mapping)
- ``lookup``: ``CrmLookup``, a cached lookup bounded by a time budget, retried, behind a ``breaker``
- ``figures``: the CRM's failure counters and breaker state for ``/metrics``
- ``webhook``: ``PopWebhook``, a POST of each screen-pop
- ``dispositions``: ``DispositionWriteBack``, a disposition written back and its card refreshed

The demo customers and logins live with the demo (``callcenter.demo.data``).

The package imports nothing of the controller's (``.importlinter``): the controller's
store uses ``crm_bridge.models`` and ``crm_bridge.numbers``, never the other way round.
"""
