/**
 * What a run that ended with stores not all succeeded says to do next, in one line: a resume of its
 * journal would send nothing, so the remedy is another command. Printed by the run and by `resume`.
 */
import * as Output from "./Output.js"
import * as Report from "./Report.js"

/** Desired ids a sync left out of its plan because they cannot be sent: the stock cannot be made to hold them. */
export const invalidDesired = (report: Report.AnyReport): number => Report.isSync(report) ? report.plan.desired.invalid.length : 0

/** The ids flags of the job a report names, as a command line takes them. */
export const idFlags = (
  job: Pick<Report.JobHeader, "productCouponId" | "brandId"> & { readonly stockId?: string | undefined; readonly stockBundleId?: string | undefined }
): string =>
  `--product-coupon-id ${job.productCouponId} ` +
  (job.stockBundleId !== undefined ? `--stock-bundle-id ${job.stockBundleId}` : `--stock-id ${job.stockId ?? "?"}`) +
  ` --brand-id ${job.brandId}`

/**
 * One line saying what to do after a run that ended (nothing cut it short) with stores that did not all
 * succeed, or "" otherwise: a resume of its journal sends nothing, so the remedy is another command.
 * An undo is run again on the same source (it sends the undone job's stores again, and warns when that
 * job's journal says it was undone already); a sync again with the same desired list (it plans from the
 * stock as it is then); a job on its report, which as `--stores` gives the failed and unresolved stores
 * (a run that wrote none is told how its journal writes it).
 * Printed by the run itself and again by `resume` of its journal, which gives back the same report.
 */
export const line = (report: Report.AnyReport, reportPath: string | undefined, undone: string | undefined): string => {
  const parts = Report.isSync(report) ? [report.associate, report.disassociate] : [report]
  const ended = parts.every((p) => p?.stoppedBy === undefined)
  const invalid = invalidDesired(report)
  if (!ended || (invalid === 0 && parts.every((p) => p === undefined || p.summary.succeeded === p.summary.unique))) return ""
  const job = report.job
  if (invalid > 0) return invalidDesiredStep(invalid, idFlags(job))
  const once = "once what failed them is fixed"
  if (job.undoes !== undefined) {
    return undone === undefined
      ? `to put back the stores this undo did not, ${once}, run wechatpay-stores undo again on the report or journal of job ${job.undoes}\n`
      : `to put back the stores this undo did not, ${once}: wechatpay-stores undo ${undone} (it sends the undone job's stores again)\n`
  }
  if (Report.isSync(report)) {
    return `to finish the sync, ${once}, run it again with the same desired list (it plans from the stock as it is then): ` +
      `wechatpay-stores sync ${idFlags(job)} --stores DESIRED\n`
  }
  const again = `wechatpay-stores ${job.operation} ${idFlags(job)} --stores`
  const lead = `to send the failed and unresolved stores again, ${once}:`
  if (reportPath !== undefined) return `${lead} ${again} ${reportPath}\n`
  // No report was written: the journal gives this one back, as the file --stores takes.
  if (job.journal !== undefined) {
    return `${lead} wechatpay-stores resume ${job.journal} --report report.json (it writes this report and sends nothing), ` +
      `then ${again} report.json\n`
  }
  return `${lead} ${again} REPORT, where REPORT is this job's report (this run wrote none: --report FILE writes one)\n`
}

/** What to do about desired ids a sync left out as invalid: fix the list, then sync again. */
export const invalidDesiredStep = (invalid: number, flags: string): string =>
  `the stock cannot hold ${invalid === 1 ? "the invalid desired id" : `the ${Output.fmt(invalid)} invalid desired ids`} ` +
  `(INVALID_STORE_ID); to make it match the list, fix or remove ${invalid === 1 ? "it" : "them"} in the desired list ` +
  `and run the sync again: wechatpay-stores sync ${flags} --stores DESIRED\n`
