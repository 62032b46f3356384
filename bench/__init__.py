"""The benchmark of issue 5: the scanner against API Gateway's quota bound and the naive collection pattern."""
