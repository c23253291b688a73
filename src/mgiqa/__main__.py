from mgiqa.cli import main

raise SystemExit(main())
