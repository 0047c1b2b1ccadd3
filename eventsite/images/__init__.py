"""Pictures: uploads checked and cleaned (processing), their files kept (storage), the
rows that name them (models, services) and the route that serves them (views)."""
