"""Forms of the members app, one module per page family. Fields check their own format; the rules are the services'."""
