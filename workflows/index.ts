export { supportAccess } from './supportAccess';
export { verificationCase } from './verificationCase';
