"""`python -m bot`: the same as the `altegio-bot` command."""

from bot.cli import main

raise SystemExit(main())
