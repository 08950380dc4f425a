import HeadcountCore
import HeadcountPipeline

extension Pipeline {
    /// Whether an event can ever be counted by this pipeline: its pipeline id, and a time
    /// inside the window ±1 day. `publish`, the ingest routes and `HeadcountClient` all ask
    /// this one question, so an event one accepts the others accept too.
    public func validate(_ event: Event) throws(EventRejection) {
        guard event.pipeline == id else {
            throw EventRejection(.unknownPipeline, "pipeline \"\(event.pipeline.prefix(100))\" is not \"\(id)\"")
        }
        guard rules.acceptsEventTime(event.at) else {
            throw EventRejection(.impossibleTimestamp, "at \(event.at) is outside the window ±1 day")
        }
    }
}
