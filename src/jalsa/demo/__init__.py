"""`jalsa demo`: a simulated rally end to end, offline. An application like the command line and
the web app: it starts the platform simulator and the SMSC simulator on one compressed clock,
sets up a fresh store (`prepare`), and runs the tracker, the conversation's collection, the
disruption watch, the inbox and the SMS reminder against them with the dashboard open (`run`),
then prints a summary. The simulator (`jalsa.sim`) knows nothing of it."""
