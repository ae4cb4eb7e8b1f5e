import { fuzzTest } from './harness.js';
import { bounceTarget } from './bounce.js';

fuzzTest(bounceTarget);
