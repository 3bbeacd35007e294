export { R4Validator, getR4Validator, validateR4, type ResourceProblem } from './r4Validator.js';
