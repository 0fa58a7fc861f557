"""Recommender benchmark (thin wrapper of ``python -m recommender.engine backtest``); see RESULTS.md here."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from recommender.engine.backtest import main  # noqa: E402

if __name__ == "__main__":
    main()
