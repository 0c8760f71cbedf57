"""Restructures of the organisation tree on an effective date: merge, split, rename, move (issue 11).

``plans`` reads the database and says what a restructure would do (which organisations end and start, where members,
placements and posts go, what refuses it); ``services.apply_plan`` does it in one transaction. The app stands above
``members`` and ``branches``; nothing imports it.
"""
