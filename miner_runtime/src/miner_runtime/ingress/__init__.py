"""What our axon accepts: CONNECTION_INFO_PUSH from validators, nothing else."""
