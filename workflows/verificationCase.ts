/**
 * P2 Identity verification (kCheck) [seeds 000–004]. One workflow per case: it walks the customer
 * through phone → SMS code → geolocation → document → selfie, each step an update whose validator
 * answers at once, then waits for an agent's decision. Deadlines are workflow timers, so they hold
 * across worker restarts and can be skipped in tests. Evidence never passes through here: the API
 * seals images, the phone number and the position into PostgreSQL and hands over their ids.
 * Privacy: the 72-hour clock of a round starts with its first evidence (the phone step in round 1,
 * the document in a resubmission round); if the case is still undecided then, it expires and
 * everything is erased (issue 14, item 6).
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  VERIFICATION_CODE_MAX_WRONG,
  VERIFICATION_CODE_SEND_WINDOW_MS,
  VERIFICATION_CODE_SENDS_PER_HOUR,
  VERIFICATION_CODE_VALIDITY_MS,
  VERIFICATION_CUSTOMER_STEPS_TIMEOUT_MS,
  VERIFICATION_DOCUMENTS_PURGE_MS,
} from '../lib/rules';
import { databaseActivity, messageActivity } from './shared/activityOptions';
import { FailureType } from './shared/failures';
import {
  caseIdOf,
  confirmCodeUpdate,
  decideUpdate,
  DOCUMENT_KINDS_BY_TYPE,
  DOCUMENTS_REQUIRED_REASONS,
  documentUpdate,
  geolocationUpdate,
  isEvidenceRef,
  manualVerificationUpdate,
  reissueLinkUpdate,
  selfieUpdate,
  statusQuery,
  submitPhoneUpdate,
  VERIFICATION_REASONS,
  type ConfirmCodeResult,
  type DocumentType,
  type LegacyPhone,
  type PhoneSubmission,
  type Position,
  type PositionSubmission,
  type VerificationInput,
  type VerificationOutcome,
  type VerificationResult,
  type VerificationStatus,
  type VerificationStep,
} from './shared/verification';

const db = proxyActivities<
  Pick<
    Activities,
    | 'openVerificationCase'
    | 'checkVerificationCode'
    | 'recordVerificationGeolocation'
    | 'attachVerificationDocuments'
    | 'markVerificationSubmitted'
    | 'recordVerificationDecision'
    | 'recordManualVerification'
    | 'expireVerificationCase'
  >
>(databaseActivity([FailureType.NotFound, FailureType.NotCaseAssignee, FailureType.CaseClosed, FailureType.InvalidDocuments]));
// Messages go out through the outbox; a permanently undeliverable one is recorded there and the
// case goes on (the customer can ask for a new link, the agent sees the case in the queue).
const notify = proxyActivities<
  Pick<Activities, 'issueVerificationLink' | 'sendVerificationCode' | 'escalateOverdueVerification' | 'notifyVerificationDecided' | 'notifyVerificationExpired'>
>(messageActivity([FailureType.PermanentDeliveryFailure, FailureType.NotFound]));

const reject = (type: FailureType, message: string) => ApplicationFailure.nonRetryable(message, type);

/**
 * Runs that took the phone step before issue 14, item 6 started the 72-hour clock at the document;
 * this patch starts it at the round's first evidence. Its marker is written on the first step
 * taken under the new code.
 */
const EVIDENCE_CLOCK_PATCH = 'verification-evidence-clock-at-phone';

export async function verificationCase(input: VerificationInput): Promise<VerificationResult> {
  if (!input?.accountId || !VERIFICATION_REASONS.includes(input.reason)) {
    throw reject(FailureType.NotFound, 'accountId and a known reason are required');
  }
  const caseId = caseIdOf(workflowInfo().workflowId);

  let step: VerificationStep = 'phone';
  let round = 1;
  let linkSeq = 0;
  let outcome: VerificationOutcome | undefined;
  // One customer or agent request at a time: concurrent updates would race on attempts and state.
  let busy = false;
  // Confirmation codes: `codeSeq` names the outstanding code; its timer clears `codeValid`.
  let codeSeq = 0;
  let codeValid = false;
  let wrongCodes = 0;
  let sendsInWindow = 0;
  // Deadlines set by timers started at the moment the rule's clock starts.
  let purgeClockRound = 0;
  let purgeDue = false;
  let overdueDue = false;
  let abandoned = false;

  const status = (): VerificationStatus => ({
    caseId,
    step,
    round,
    outcome: outcome ?? null,
    codeAttemptsLeft: step === 'phone_confirm' ? VERIFICATION_CODE_MAX_WRONG - wrongCodes : null,
    smsSendsLeft: Math.max(0, VERIFICATION_CODE_SENDS_PER_HOUR - sendsInWindow),
  });

  const expectStep = (...allowed: VerificationStep[]) => {
    if (outcome || step === 'closed') throw reject(FailureType.CaseClosed, 'the case is closed');
    if (busy) throw reject(FailureType.StepInProgress, 'another request on this case is being processed');
    if (!allowed.includes(step)) throw reject(FailureType.StepOutOfOrder, `expected step ${step}`);
  };
  /** Runs a handler with the case locked; the lock is released whatever happens. */
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  };
  const startTimer = (ms: number, fire: () => void) => {
    // Detached timers: each checks on firing whether its reason still holds. A timer only rejects
    // when the case is cancelled, and then nothing is left for it to do.
    void sleep(ms).then(fire, () => undefined);
  };
  /** P2: whatever the customer sent is deleted after 72 hours if the case is not processed; one clock per round. */
  const startPurgeClock = () => {
    if (purgeClockRound === round) return;
    purgeClockRound = round;
    const r = round;
    startTimer(VERIFICATION_DOCUMENTS_PURGE_MS, () => {
      if (round === r && !outcome) purgeDue = true;
    });
  };
  const issueLink = async () => {
    linkSeq += 1;
    const seq = linkSeq;
    await notify.issueVerificationLink({ caseId, seq });
    startTimer(VERIFICATION_CUSTOMER_STEPS_TIMEOUT_MS, () => {
      if (linkSeq === seq && step !== 'review' && !outcome) abandoned = true;
    });
  };

  setHandler(statusQuery, status);

  setHandler(
    submitPhoneUpdate,
    (submission: PhoneSubmission | LegacyPhone) =>
      locked(async () => {
        // The number is in PostgreSQL from now on: the first evidence of the round.
        if (patched(EVIDENCE_CLOCK_PATCH)) startPurgeClock();
        sendsInWindow += 1;
        startTimer(VERIFICATION_CODE_SEND_WINDOW_MS, () => (sendsInWindow -= 1));
        codeSeq += 1;
        const seq = codeSeq;
        await notify.sendVerificationCode({ caseId, seq, ...submission });
        step = 'phone_confirm';
        codeValid = true;
        wrongCodes = 0;
        startTimer(VERIFICATION_CODE_VALIDITY_MS, () => {
          if (codeSeq === seq) codeValid = false;
        });
        return status();
      }),
    {
      validator: ({ phoneRef }) => {
        // A new number or a resend is allowed until the code is confirmed.
        expectStep('phone', 'phone_confirm');
        if (!isEvidenceRef(phoneRef)) throw reject(FailureType.StepOutOfOrder, 'phoneRef must be the id of the number sealed by the API');
        if (sendsInWindow >= VERIFICATION_CODE_SENDS_PER_HOUR) throw reject(FailureType.SmsLimitReached, 'confirmation SMS limit for this hour reached');
      },
    },
  );

  setHandler(
    confirmCodeUpdate,
    ({ code }) =>
      locked(async (): Promise<ConfirmCodeResult> => {
        if (!codeValid) return { result: 'expired', status: status() };
        const { matches } = await db.checkVerificationCode({ caseId, code, seq: codeSeq });
        if (matches) {
          codeValid = false;
          step = 'geolocation';
          return { result: 'confirmed', status: status() };
        }
        wrongCodes += 1;
        if (wrongCodes >= VERIFICATION_CODE_MAX_WRONG) {
          codeValid = false;
          step = 'phone';
          wrongCodes = 0;
          return { result: 'too_many_attempts', status: status() };
        }
        return { result: 'wrong', status: status() };
      }),
    { validator: (_input) => expectStep('phone_confirm') },
  );

  setHandler(
    geolocationUpdate,
    (submission: PositionSubmission | Position) =>
      locked(async () => {
        await db.recordVerificationGeolocation({ caseId, ...submission });
        step = 'document';
        return status();
      }),
    {
      // The API checked the range before sealing the position.
      validator: ({ positionRef }) => {
        expectStep('geolocation');
        if (!isEvidenceRef(positionRef)) throw reject(FailureType.StepOutOfOrder, 'positionRef must be the id of the position sealed by the API');
      },
    },
  );

  setHandler(
    documentUpdate,
    ({ type, documentIds }) =>
      locked(async () => {
        await db.attachVerificationDocuments({ caseId, round, documentIds, kinds: [...DOCUMENT_KINDS_BY_TYPE[type]] });
        if (patched(EVIDENCE_CLOCK_PATCH)) {
          // Round 1's clock started at the phone step; a resubmission round's starts here.
          startPurgeClock();
        } else {
          const r = round;
          startTimer(VERIFICATION_DOCUMENTS_PURGE_MS, () => {
            if (round === r && !outcome) purgeDue = true;
          });
        }
        step = 'selfie';
        return status();
      }),
    {
      validator: ({ type, documentIds }: { type: DocumentType; documentIds: string[] }) => {
        expectStep('document');
        const kinds = DOCUMENT_KINDS_BY_TYPE[type];
        if (!kinds || documentIds?.length !== kinds.length) throw reject(FailureType.InvalidDocuments, 'wrong number of images for this document type');
      },
    },
  );

  setHandler(
    selfieUpdate,
    ({ documentId }) =>
      locked(async () => {
        await db.attachVerificationDocuments({ caseId, round, documentIds: [documentId], kinds: ['selfie'] });
        const { dueInMs } = await db.markVerificationSubmitted({ caseId, round });
        step = 'review';
        const r = round;
        startTimer(dueInMs, () => {
          if (round === r && step === 'review' && !outcome) overdueDue = true;
        });
        return status();
      }),
    { validator: (_input) => expectStep('selfie') },
  );

  setHandler(
    decideUpdate,
    ({ agentId, decision, reason }) =>
      locked(async () => {
        await db.recordVerificationDecision({ caseId, round, agentId, decision, reason });
        if (decision === 'request_resubmission') {
          round += 1;
          step = 'document';
          await issueLink();
        } else {
          outcome = decision === 'approve' ? 'approved' : 'rejected';
          step = 'closed';
        }
        return status();
      }),
    { validator: (_input) => expectStep('review') },
  );

  setHandler(
    manualVerificationUpdate,
    ({ agentId, decision, reason }) =>
      locked(async () => {
        await db.recordManualVerification({ caseId, agentId, decision, reason });
        outcome = decision === 'approve' ? 'approved' : 'rejected';
        step = 'closed';
        return status();
      }),
    {
      // Four eyes (DOCUMENTS_REQUIRED_REASONS). Only a validator changed: validators do not run when
      // history replays an accepted update, and a refused update leaves no event, so runs recorded
      // before this rule replay unchanged and need no patch marker.
      validator: ({ decision }) => {
        expectStep('phone', 'phone_confirm', 'geolocation', 'document', 'selfie', 'review');
        if (decision === 'approve' && DOCUMENTS_REQUIRED_REASONS.includes(input.reason)) {
          throw reject(FailureType.ManualApprovalRefused, 'this case is approved only on reviewed documents, never by a manual verification');
        }
      },
    },
  );

  setHandler(
    reissueLinkUpdate,
    () =>
      locked(async () => {
        await issueLink();
        return status();
      }),
    { validator: (_input) => expectStep('phone', 'phone_confirm', 'geolocation', 'document', 'selfie') },
  );

  try {
    await db.openVerificationCase({
      caseId,
      accountId: input.accountId,
      reason: input.reason,
      subject: input.subject ?? null,
      openedBy: input.openedBy ?? 'system',
      contact: input.contact ?? 'login_email',
    });
    await issueLink();

    for (;;) {
      await condition(() => outcome !== undefined || overdueDue || purgeDue || abandoned);
      if (outcome) break;
      if (overdueDue) {
        overdueDue = false;
        await notify.escalateOverdueVerification({ caseId, round });
        continue;
      }
      // Expiry waits for a request in flight: a decision being recorded wins over the timer.
      await condition(() => !busy);
      if (outcome) break;
      outcome = 'expired';
      step = 'closed';
      await db.expireVerificationCase({ caseId, status: 'expired' });
      await notify.notifyVerificationExpired({ caseId });
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The parent gave up (e.g. its own deadline): erase the evidence even though we are cancelled.
    await CancellationScope.nonCancellable(() => db.expireVerificationCase({ caseId, status: 'cancelled' }));
    throw err;
  }

  await condition(allHandlersFinished);
  if (outcome !== 'expired') await notify.notifyVerificationDecided({ caseId });
  return { caseId, outcome };
}
