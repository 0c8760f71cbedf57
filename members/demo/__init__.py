"""Demo data of the Đông Hà city party organisation: see builder.seed_demo."""
