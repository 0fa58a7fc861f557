"""Model registry shared by the ML apps: model versions with their artifacts, and training runs.

Generic over ``kind`` (e.g. ``"forecast"``, ``"recommender"``). Business rules live in
:mod:`registry.services`; see its docstring for the lifecycle.
"""
