export { R4Validator, getR4Validator, validateR4 } from './r4Validator.js';
