"""The JSON API: a public read API and the organiser API, thin views over the domains'
services, documented by the OpenAPI document flask-smorest generates from their schemas."""
