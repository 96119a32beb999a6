"""The stages, each written once over a Workload (workloads/): the jobs in jobs/ parse the
arguments, pick the workload and call one of these.

    ingest.run     land the source's records in bronze
    clean.run      bronze -> silver (+ quarantine), gated
    features.run   silver -> the fitted encoder's table + gold, gated
    publish        the one gate -> write -> data-quality results sequence
    generate       the folder rules shared by every workload's generator
"""
