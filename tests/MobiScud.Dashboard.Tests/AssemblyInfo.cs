// One browser test at a time: serve, the simulator and chromium side by side starve each other on a small CI machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
