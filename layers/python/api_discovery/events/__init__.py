"""Events: detail models, the PutEvents publisher, once-only publishing. Imports store and every stage below it."""
