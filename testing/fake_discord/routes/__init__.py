"""REST routes, one module per resource: each is a mixin with its handlers and its part of the route table."""
