"""JSON Schema of the portfolio file, for editors and validators."""
