"""`python -m amint_demo ...`"""
from amint_demo.cli import main

raise SystemExit(main())
