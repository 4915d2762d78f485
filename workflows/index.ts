export { supportAccess } from './supportAccess';
export { verificationCase } from './verificationCase';
export { orderBlock } from './orderBlock';
export { productCancellation } from './productCancellation';
export { renewal } from './renewal';
export { renewalSweep } from './renewalSweep';
export { legalRepHandover } from './legalRepHandover';
export { memberInvitation } from './memberInvitation';
