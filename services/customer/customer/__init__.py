"""The customer service: customers, their contracts and the payments received (回款)."""
