"""Short runs of the fuzz harness (``make fuzz``, tamga.tools.fuzz) inside ``make test``."""
