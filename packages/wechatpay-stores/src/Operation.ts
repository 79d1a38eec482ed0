/**
 * Which of the library's bulk jobs a job command runs: the one place the CLI
 * names them. Both are the library's `BulkStores` jobs (one engine, the endpoint
 * differs), with its stock check before the job (`preflight`) and its settling of
 * unknown outcomes by listing (`verify`), which the commands can turn off. By
 * default a job command runs the journaled variant (`StoreJobs`), which `resume`
 * can finish after a crash; `--no-journal` runs the `BulkStores` job alone.
 */
import type { Effect } from "effect"
import { BulkStores, type JobJournal, type ProductCouponStores, StoreJobs } from "effect-wechatpay"

/** What a job command does to the stores it is given. */
export type Operation = "disassociate" | "associate"

/** A bulk job of the library: the ids, the job's options, its report. */
export type BulkJob = <E, R>(
  ids: BulkStores.StoreIds<E, R>,
  options: BulkStores.Options
) => Effect.Effect<BulkStores.Report, BulkStores.JobError, R | ProductCouponStores.ProductCouponStores>

/** The library's job for each operation. */
export const bulkJob: Readonly<Record<Operation, BulkJob>> = {
  disassociate: BulkStores.disassociateAll,
  associate: BulkStores.associateAll
}

/** A bulk job of the library over a stock bundle (every stock of it): no stock check, no listing. */
export type BundleJob = <E, R>(
  ids: BulkStores.StoreIds<E, R>,
  options: BulkStores.BundleOptions
) => Effect.Effect<BulkStores.Report, BulkStores.BundleJobError, R | ProductCouponStores.ProductCouponStores>

/** The library's bundle job for each operation. */
export const bundleJob: Readonly<Record<Operation, BundleJob>> = {
  disassociate: BulkStores.disassociateBundleAll,
  associate: BulkStores.associateBundleAll
}

/** A journaled job of the library (`StoreJobs`): the same job, recording every call and outcome in a journal. */
export type DurableJob = <E, R>(
  ids: BulkStores.StoreIds<E, R>,
  options: StoreJobs.Options
) => Effect.Effect<
  StoreJobs.JobReport,
  StoreJobs.JobError,
  R | ProductCouponStores.ProductCouponStores | JobJournal.JobJournal
>

/** The library's journaled job for each operation (what a job command runs unless --no-journal). */
export const durableJob: Readonly<Record<Operation, DurableJob>> = {
  disassociate: StoreJobs.disassociateAll,
  associate: StoreJobs.associateAll
}

/** A journaled bundle job of the library. */
export type DurableBundleJob = <E, R>(
  ids: BulkStores.StoreIds<E, R>,
  options: StoreJobs.BundleOptions
) => Effect.Effect<
  StoreJobs.JobReport,
  BulkStores.BundleJobError | JobJournal.JournalError,
  R | ProductCouponStores.ProductCouponStores | JobJournal.JobJournal
>

/** The library's journaled bundle job for each operation. */
export const durableBundleJob: Readonly<Record<Operation, DurableBundleJob>> = {
  disassociate: StoreJobs.disassociateBundleAll,
  associate: StoreJobs.associateBundleAll
}

/** The most stores a call carries, for the dry run's plan (the same for both endpoints). */
export const MAX_CHUNK = BulkStores.MAX_CHUNK

/** Words for an operation, in the help and the output. */
export const words: Readonly<Record<Operation, {
  /** "Removes … from": what the command does, as the help opens. */
  readonly does: string
  /** "remove the stores from" */
  readonly verbPhrase: string
}>> = {
  disassociate: { does: "Removes the stores in --stores from a product-coupon stock", verbPhrase: "remove the stores from" },
  associate: { does: "Adds the stores in --stores to a product-coupon stock", verbPhrase: "add the stores to" }
}
