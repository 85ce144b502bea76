from jalsa.cli import main

main()
