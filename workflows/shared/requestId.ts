/** The Temporal header carrying the request id from the API to a workflow and its activities (issue 19, item 4). */
export const REQUEST_ID_HEADER = 'request-id';
