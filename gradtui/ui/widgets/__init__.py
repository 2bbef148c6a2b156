"""The dashboard's panels. Each draws from a RunHistory when told to."""
