"""`python -m services.catalogue [-port=N] [-DSN=user:password@tcp(host:port)/socksdb]` (defaults 8080 and
root:fake_password@tcp(catalogue-db:3306)/socksdb); logs go-kit logfmt lines to stderr."""

from services.catalogue.app import main

raise SystemExit(main())
