/** Paths the constructs need, from this file's location (never the working directory). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.join(here, '..');
export const LAMBDAS_DIR = path.join(REPO_ROOT, 'lambdas');
export const TRAIN_DOCKERFILE = path.join('docker', 'train', 'Dockerfile');
