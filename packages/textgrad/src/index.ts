export { type ArmStats, type Bandit, BanditBase, Ucb1Bandit } from './bandit';
