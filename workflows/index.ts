export { supportAccess } from './supportAccess';
