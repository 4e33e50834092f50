from provenance_ledger.cli.app import main

main()
