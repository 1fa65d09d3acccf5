/** The variable naming the server the approval commands and `run --approve-via` talk to. */
export const SERVER_ENV = 'CLOUDOPS_SERVER';
