"""Lets `python -m avatarcam` behave like the `avatarcam` console script."""

from avatarcam.cli.main import main

raise SystemExit(main())
