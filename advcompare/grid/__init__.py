"""The grid of cells: plan, tasks, crafting, runner, driver, locks and executors."""
