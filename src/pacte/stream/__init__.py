"""Immediate sharing: the live event stream (SSE), exact resume, and signed webhooks (issue 4).

The event log in the store (:mod:`pacte.store.events`) is the source of truth; the
:class:`~pacte.stream.broker.Broker` of each server process pages it for its subscribers,
woken after each local commit, by PostgreSQL NOTIFY, or by a short poll.
"""
