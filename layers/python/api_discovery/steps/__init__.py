"""Steps: plan, scan and finalize, as the Lambdas and the local runner call them. Imports every stage but local."""
